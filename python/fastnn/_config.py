"""fastnn.show_config(): how this fastnn was built and what it runs with (numpy.show_config's counterpart)."""

from fastnn import _C


def show_config():
    """Prints the version, compiler, build type, the kernels' instruction sets (compiled in, supported
    by this CPU, chosen at run time), the thread count and CUDA."""
    c = _C._build_config()
    rows = [
        ("compiler", c["compiler"]),
        ("build type", c["build_type"] + (", -march=native" if c["native"] else "")),
        (
            "ISA kernels",
            f"{', '.join(c['isa_compiled'])} compiled in; this CPU runs {', '.join(c['isa_supported'])}; "
            f"chosen: {c['isa']}",
        ),
        ("threads", c["threads"]),
        ("CUDA", c["cuda"]),
    ]
    print(f"fastnn {c['version']}")
    for name, value in rows:
        print(f"  {name + ':':<13}{value}")
