// GdbRemote: filled in by its issue.
