"""Pure rules of the volunteers service: no I/O, time and ids are passed in."""
