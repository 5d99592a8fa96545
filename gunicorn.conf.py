"""gunicorn's settings for this project, read from here by any `gunicorn wsgi:app`.

gunicorn loads ./gunicorn.conf.py from the directory it starts in, so a
production start from the project directory gets these without flags
(`make run` and the live-server tests pass the same on the command line).
"""

# No gunicorn cap on the request line. Its default (4,094 bytes, at most 8,190)
# answers longer URLs with an English "URI Too Long" page without our security
# or no-store headers; the app refuses a target above MAX_URI_LENGTH itself,
# with its own Chinese 414 page (marketplace/errors.py).
limit_request_line = 0
