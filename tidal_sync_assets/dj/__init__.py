"""What DJ software reads: musical keys and the Rekordbox XML export."""
