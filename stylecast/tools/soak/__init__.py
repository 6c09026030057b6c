"""``stylecast soak``: a long live run under a streamer's traffic, judged for decay."""
