"""Publishing channels: the Graph API client, Instagram and Facebook Page operations."""
