// FaultInjection: filled in by its issue.
