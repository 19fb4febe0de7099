"""The nornir3 demo: the version of every device of site earth, with plain nornir.

Run it with no configuration (it then targets acmerun's embedded lab), or point
it at an inventory service with ACME_INVENTORY_URL.
"""

from nornir import InitNornir

from acmerun.plugins.tasks import acmeos

nr = InitNornir(
    inventory={"plugin": "ACMEInventory", "options": {"filter_sites": ["earth"]}},
    # no nornir.log in the working directory, no tracebacks: failures are printed below
    logging={"log_file": "", "level": "CRITICAL"},
)

results = nr.run(task=acmeos.get_version)

for hostname, result in results.items():
    if result.failed:
        print(f"{hostname}: {result.exception}")
    else:
        print(f"{hostname}: {result.result['full_version']}")
