// Swift demangling lives in SymbolNames so DebugInfo can use it without
// depending on Inspect (and through it on GdbRemote); `import Inspect` keeps
// offering `SwiftSymbolNames` as before.
@_exported import SymbolNames
