"""Writers of tiny native-layout corpus trees (one module per corpus), used by the loader tests
and by the user-stream and `benchmark eval` tests. Each module has `write(root, say) -> root`."""
