// Inspect: filled in by its issue.
