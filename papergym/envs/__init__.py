"""The environments, one folder per paper. They depend on gymnasium and numpy only."""
