"""E-mail: a queue in the database, delivered over SMTP by a command or after commit."""
