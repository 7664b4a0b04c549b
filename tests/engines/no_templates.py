"""An engine that works when started by exec but cannot be a template."""

import runpy
import sys

if "--template-fd" in sys.argv:
    sys.exit("no_templates: I cannot be a template")
sys.argv[0] = "codenode.engine"
runpy.run_module("codenode.engine", run_name="__main__")
