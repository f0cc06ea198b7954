"""`tenken sim`: run the MAVLink vehicle simulator and its camera until Ctrl-C."""

from __future__ import annotations

import json
import time

import typer

from tenken.errors import ConfigError


def sim(
    port: int = typer.Option(5760, "--port", help="MAVLink TCP port (ArduPilot SITL uses 5760)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    lat: float = typer.Option(35.6074, "--lat", help="Home latitude."),
    lon: float = typer.Option(140.1065, "--lon", help="Home longitude."),
    speedup: float = typer.Option(1.0, "--speedup", help="Simulated seconds per wall-clock second."),
    camera_port: int = typer.Option(8554, "--camera-port", help="HTTP MJPEG camera port; 0 = no camera."),
    camera_fps: float = typer.Option(10.0, "--camera-fps", help="Camera frames per second."),
    battery_pct: float = typer.Option(100.0, "--battery-pct", help="Battery level at start."),
    battery_drain: float = typer.Option(1.0, "--battery-drain", help="Drain multiplier (>1 empties faster)."),
    print_patches: bool = typer.Option(
        False, "--print-patches", help="Print the planted incidents as GeoJSON."
    ),
    world_style: str = typer.Option(
        "procedural",
        "--world",
        help="Planted incidents as coloured blobs (procedural) or real photographs the shipped models "
        "never trained on (imagery: a 300 m world at 0.1 m/px; landslides need ../shared/data).",
    ),
) -> None:
    """Simulate an ArduCopter on TCP (DroneKit: `--connect tcp:127.0.0.1:5760`) with a gimbal camera
    looking at a synthetic world with planted fire, smoke, landslide and flood patches."""
    from drone.sim.camera import CameraServer
    from drone.sim.mavlink_server import SimServer
    from drone.sim.vehicle import SimConfig, SimVehicle
    from drone.sim.world import IMAGERY_M_PER_PX, STYLES, SyntheticWorld

    if world_style not in STYLES:
        raise ConfigError(f"--world must be one of {', '.join(STYLES)}, got {world_style!r}")
    if speedup <= 0:
        raise ConfigError(f"--speedup must be above 0, got {speedup:g}")
    if not 0 < battery_pct <= 100:
        raise ConfigError(f"--battery-pct must be in (0, 100], got {battery_pct:g}")
    config = SimConfig(
        home_lat=lat, home_lon=lon, battery_start_pct=battery_pct, battery_drain_scale=battery_drain
    )
    server = SimServer(SimVehicle(config), host=host, port=port, speedup=speedup)
    try:
        server.start()
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    camera = None
    world = None
    if camera_port:
        if world_style == "imagery":  # photographs need a finer ground: a smaller world keeps it light
            world = SyntheticWorld(lat, lon, size_m=300.0, m_per_px=IMAGERY_M_PER_PX, style="imagery")
        else:
            world = SyntheticWorld(lat, lon)
        camera = CameraServer(world, server.vehicle.pose, host=host, port=camera_port, fps=camera_fps)
        try:
            camera.start()
        except OSError as exc:
            server.stop()
            raise ConfigError(f"cannot serve the camera on {host}:{camera_port}: {exc.strerror}") from None
    typer.echo(f"simulator: tcp:{host}:{server.port} (speed-up {speedup:g}x), home {lat:.6f},{lon:.6f}")
    if camera is not None:
        typer.echo(f"camera:    {camera.url}")
    if print_patches and world is not None:
        features = [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
             "properties": {"kind": p.kind, "radius_m": p.radius_m, "drawn": drawn}}
            for p, drawn in zip(world.patches, world.drawn, strict=True)
        ]  # fmt: skip
        typer.echo(json.dumps({"type": "FeatureCollection", "features": features}))
    try:
        while True:
            time.sleep(1.0)
    except KeyboardInterrupt:
        typer.echo("stopping simulator")
    finally:
        if camera is not None:
            camera.stop()
        server.stop()


def register(app: typer.Typer) -> None:
    app.command("sim")(sim)
