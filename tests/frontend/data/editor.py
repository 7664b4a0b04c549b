"""A script written in an editor with cell markers (VS Code, Spyder, jupytext)."""
import math

# %% [markdown]
# # Circles
#
# The area of a circle of radius *r*.

# %% Area
def area(r):
    return math.pi * r**2

# %%
area(2)
