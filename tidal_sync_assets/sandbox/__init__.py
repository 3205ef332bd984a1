"""A loopback TIDAL that speaks the part of the API tidalapi uses."""
