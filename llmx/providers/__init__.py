"""Provider codecs (pure) and the one HTTP engine that sends their calls."""
