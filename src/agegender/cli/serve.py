"""``agegender serve``: the web app and REST API on uvicorn."""

from __future__ import annotations

import errno
import sys

from agegender.cli.options import WEIGHTS_HELP, add_engine_options, add_min_face_option, models_to_load
from agegender.errors import UserError
from agegender.models.shipped import BOTH, DEFAULT_MODEL, SHIPPED_MODELS
from agegender.server.config import ServerConfig


def add_serve(sub):
    p = sub.add_parser(
        "serve",
        help="start the web app and REST API (FastAPI on uvicorn)",
        description="Serve the web page at / , the REST API at /api/analyze and its documentation at "
        "/docs (works offline). Requests beyond the limits below get 503 with Retry-After.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 for every interface)",
    )
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--allowed-hosts",
        metavar="NAMES",
        help="comma-separated host names the server answers to (the request's Host header, e.g. "
        "'faces.example.org,localhost'; '*.example.org' for its subdomains); others get 400. "
        "Default: any",
    )
    p.add_argument(
        "--model",
        default=None,
        help=f"models to load: {', '.join(SHIPPED_MODELS)} or {BOTH} (default {BOTH}, so that the page can "
        f"compare them; the API and the page answer with {DEFAULT_MODEL} unless asked for another)",
    )
    p.add_argument("--weights", action="append", default=[], metavar="NAME=FILE", help=WEIGHTS_HELP)
    d = ServerConfig()  # every default below is the server's own
    p.add_argument(
        "--max-upload-mb",
        type=float,
        default=d.max_upload_bytes / 1e6,
        help=f"largest upload, MB (default {d.max_upload_bytes / 1e6:g}; 413 beyond)",
    )
    p.add_argument(
        "--max-megapixels",
        type=float,
        default=d.max_pixels / 1e6,
        help=f"largest image, width x height in millions of pixels (default {d.max_pixels / 1e6:g}; 400 beyond)",
    )
    p.add_argument(
        "--max-active", type=int, default=0, help="analyses running at once (default: the number of CPU cores)"
    )
    p.add_argument(
        "--max-waiting",
        type=int,
        default=-1,
        help=f"requests queued for a free slot, at most {d.max_wait_s:g} s (default: 8 per active slot; a "
        f"queued request holds only its upload bytes)",
    )
    p.add_argument(
        "--pixel-budget-mp",
        type=float,
        default=d.pixel_budget / 1e6,
        help=f"decoded megapixels held by all running analyses together (default {d.pixel_budget / 1e6:g}, "
        f"about 1 GB of work)",
    )
    p.add_argument(
        "--live-max-connections",
        type=int,
        default=d.live_max_connections,
        help=f"live webcam views at once (default {d.live_max_connections}; 503 beyond)",
    )
    p.add_argument(
        "--live-max-fps",
        type=float,
        default=d.live_max_fps,
        help=f"frames a second analysed per live view (default {d.live_max_fps:g}; faster senders are slowed down)",
    )
    add_min_face_option(p)
    add_engine_options(p)
    p.set_defaults(handler=run_serve)


def run_serve(args) -> int:
    import uvicorn  # a missing 'server' extra is reported by the CLI with the command to install it

    from agegender.server.app import create_app

    names, extra = models_to_load(args.model, args.weights, default=BOTH)
    config = ServerConfig(
        models=names,
        weights=extra or None,
        max_upload_bytes=int(args.max_upload_mb * 1e6),
        max_pixels=int(args.max_megapixels * 1e6),
        max_active=args.max_active or None,
        max_waiting=None if args.max_waiting < 0 else args.max_waiting,
        pixel_budget=int(args.pixel_budget_mp * 1e6),
        min_face=args.min_face,
        engine=args.engine,
        threads=args.threads or None,
        device=args.device,
        live_max_connections=args.live_max_connections,
        live_max_fps=args.live_max_fps,
        allowed_hosts=tuple(h.strip() for h in args.allowed_hosts.split(",") if h.strip())
        if args.allowed_hosts
        else None,
    )
    _check_port_free(args.host, args.port)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: listening on {args.host}: anyone who can reach this address can use the API and the "
            f"page (there is no authentication); --allowed-hosts limits the host names it answers to",
            file=sys.stderr,
        )
    from agegender.server.protocol import GuardedH11Protocol

    uvicorn.run(create_app(config), host=args.host, port=args.port, log_level="info", http=GuardedH11Protocol)
    return 0


def _check_port_free(host: str, port: int) -> None:
    """Say at once, before the models load, that the port is taken (one line, exit 2)."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UserError(
                    f"port {port} on {host} is in use (another server?): choose another with --port"
                ) from None
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
