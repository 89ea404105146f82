"""Prints a novita-sandbox Python template as the SDK sends it to the template builder.

Usage: python3 template_json.py PATH/template.py

Imports the module (it must define `template`, as the SDK's documentation does) and prints
`Template.to_json(template)` with one extra field, `sdkVersion`. The harness runs this in an
empty network namespace: the SDK's best-effort read of the base image's config from its
registry then fails at once (its retry backoff is set to zero through the SDK's own hook),
which changes nothing here since the emulated sandbox does not use that image.
"""

import importlib.metadata
import importlib.util
import json
import os
import sys

sys.dont_write_bytecode = True

try:
    from novita_sandbox import Template
    from novita_sandbox.core.template import image_config
except ImportError as error:
    sys.stderr.write(
        f"the novita-sandbox Python SDK is not importable by {sys.executable} ({error}): "
        "pip install novita-sandbox==2.1.1, or point NOVITA_SSH_E2E_PYTHON at a python that has it\n"
    )
    sys.exit(3)


def main() -> int:
    if len(sys.argv) != 2:
        sys.stderr.write("usage: template_json.py PATH/template.py\n")
        return 2
    path = os.path.abspath(sys.argv[1])
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("template", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "template"):
        sys.stderr.write(f"{path} defines no `template`\n")
        return 4
    image_config.set_retry_backoff_for_tests(0)
    data = json.loads(Template.to_json(module.template))
    data["sdkVersion"] = importlib.metadata.version("novita-sandbox")
    print(json.dumps(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
