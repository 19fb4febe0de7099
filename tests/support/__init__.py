"""Helpers shared by the tests; they import from here, never from a conftest.

``credentials`` (the test lab's password, one home), ``processes`` (``acmerun`` and
lab processes, their output recorded for the secret scan), ``gate`` (a barrier
between a test and the hosts of a run in another process), ``watch`` (wait for a
file to be created), ``terminal`` (what a terminal shows after some output),
``cluster`` (runbooks and reports of the cluster tests), ``dask_cluster`` (``dask
scheduler`` and ``dask worker`` processes), ``fuzz`` (strategies for
broken runbooks).
"""
