"""The road network: centrelines with route ids, fixed units along them, matching drives onto them."""
