"""Commands from the hypervisor: validation, a memory of answered ids, the dispatcher, config trials."""
