// Entry point: parse the command line, map failures to mmdbg's exit codes
// (0 ok, 1 a command failed, 2 usage error, 3 cannot connect or launch).
MmdbgCLI.main()
