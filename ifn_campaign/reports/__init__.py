"""What staff read: the campaign report page and the markdown of Prefect artifacts."""
