"""Personal data sealed with a per-person data key, so erasing a person is deleting one key
while the events that mention them stay as they are (crypto-shredding, issue 16)."""
