def register_commands(): pass
