# The template from Novita's "SSH access" guide (docs/guides/sandbox-ssh-access), in Python.
# It is the control case of the security tests: built on the platform's default image, it
# bridges an sshd that accepts empty passwords to a public WebSocket. Never build it.
from novita_sandbox import Template, wait_for_port

template = (
    Template()
    .from_ubuntu_image("25.04")
    .apt_install(["openssh-server"])
    .run_cmd(
        [
            "curl -fsSL -o /usr/local/bin/websocat https://github.com/vi/websocat/releases/latest/download/websocat.x86_64-unknown-linux-musl",
            "chmod a+x /usr/local/bin/websocat",
        ],
        user="root",
    )
    .set_start_cmd(
        "sudo websocat -b --exit-on-eof ws-l:0.0.0.0:8081 tcp:127.0.0.1:22",
        wait_for_port(8081),
    )
)
