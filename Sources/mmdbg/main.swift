print("mmdbg: not built yet")
