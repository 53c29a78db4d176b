"""Trace how socketserver really works: MRO, owners and call flow.

Recorded from real runs, on every interpreter from 2.7 to 3.13:

- :mod:`analysis.model`: the plain data (Trace, MRO, MROSet, Flow, FlowDiff),
  JSON with a schema name and version; imports nothing of the project.
- :mod:`analysis.mro`: a class's linearization, and for every attribute the
  class that supplies it, what it shadows, and whether it extends or replaces.
- :mod:`analysis.trace`: the tracer (the recorded functions' code swapped
  for the run; sys.monitoring, settrace or setprofile on request), owners
  found through the MRO, thread and fork hops.
- :mod:`analysis.scenarios`: the loopback servers it records
  (``python -m analysis scenarios``), built on the stdlib or on compatserver.
- :mod:`analysis.flow` and :mod:`analysis.diff`: the path from construction
  to ``handle()``, and how it differs between interpreters.
- :mod:`analysis.versions`: one scenario under every interpreter, in parallel.

``python -m analysis --help`` has the command line.  Importing ``analysis``
imports nothing else: no Sphinx, no compatserver.
"""
