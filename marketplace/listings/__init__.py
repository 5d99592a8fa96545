"""What challenges and results share: their state machines, review and expiry."""
