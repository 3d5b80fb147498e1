"""Start the app of the acme deployment: the lab's app code, under a process name that says nothing of it."""

import runpy
import sys

sys.path.insert(0, "/opt/reflexion")
runpy.run_module("reflexion_app", run_name="__main__", alter_sys=True)
