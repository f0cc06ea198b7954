"""The drone side: vehicle link (DroneKit), missions, flight scripts, telemetry, capture, simulator."""
