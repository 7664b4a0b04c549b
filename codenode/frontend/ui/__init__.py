"""The browser UI: one page shell for every address, the bundled script and stylesheet.

The TypeScript sources are in ``src/``; ``npm run build`` (run by ``make``) bundles them into
``static/``, which is not in git but is in the wheel.
"""
