"""The hypervisor contract: FIWARE Smart Data Model mapping, NGSI-LD output, device inventory."""
