"""The pipeline: capture, stylize and output threads joined by one bounded queue,
the frames they pass, their stats, and what the outputs show while the signal is lost."""
