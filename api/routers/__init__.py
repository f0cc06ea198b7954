"""One router per resource of the command-post API."""
