"""``stylecast bench``: speed measured side by side in one run, with the machine named."""
