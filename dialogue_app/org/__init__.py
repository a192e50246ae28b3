"""Units (the hierarchy), businesses, contacts and interactions."""
