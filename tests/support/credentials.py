"""The credentials of every test lab: each end-to-end test checks they are never written out."""

from __future__ import annotations

LAB_USERNAME = "netops"
LAB_PASSWORD = "s3cr3t-Lab-Pa55"
#: a password the lab refuses, for the wrong-credentials runs: it must not leak either
WRONG_PASSWORD = "Wr0ng-pa55-w0rd"
