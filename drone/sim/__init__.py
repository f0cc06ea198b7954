"""MAVLink vehicle simulator and simulated camera (`tenken sim`)."""
