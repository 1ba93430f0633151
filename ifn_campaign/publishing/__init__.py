"""Publishing approved posts exactly once, and where the platforms fetch our media from."""
