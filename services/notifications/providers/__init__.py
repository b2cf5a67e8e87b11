"""SMS providers: the I/O edge that hands a written message to a network."""
