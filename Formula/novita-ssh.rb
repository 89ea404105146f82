# Homebrew formula for novita-ssh: builds both binaries from source and installs their
# man pages and shell completions. The url and sha256 below are rewritten for every
# release by packaging/release-formula.sh (see packaging/README.md).
class NovitaSsh < Formula
  desc "Plain OpenSSH for Novita AI sandboxes: WebSocket ProxyCommand and ssh config"
  homepage "https://github.com/novita-ssh/novita-ssh"
  url "https://github.com/novita-ssh/novita-ssh/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  license any_of: ["MIT", "Apache-2.0"]
  head "https://github.com/novita-ssh/novita-ssh.git", branch: "main"

  depends_on "rust" => :build
  # novita-proxy is a ProxyCommand for ssh, and novita-sshconfig's checks run ssh -G.
  uses_from_macos "openssh"

  def install
    # --version reports this commit; a release tarball has no .git directory.
    ENV["NOVITA_SSH_COMMIT"] = "v#{version}"
    system "cargo", "install", *std_cargo_args(path: "crates/novita-proxy")
    system "cargo", "install", *std_cargo_args(path: "crates/novita-sshconfig")

    man1.install Dir["man/*.1"]
    %w[novita-proxy novita-sshconfig].each do |cmd|
      bash_completion.install "packaging/completions/#{cmd}.bash" => cmd
      zsh_completion.install "packaging/completions/_#{cmd}"
      fish_completion.install "packaging/completions/#{cmd}.fish"
    end
  end

  test do
    ENV["HOME"] = testpath.to_s

    assert_match "novita-proxy #{version}", shell_output("#{bin}/novita-proxy --version")

    # A bad host is refused before any network I/O, with the documented exit code 2.
    output = shell_output("#{bin}/novita-proxy 'x;rm -rf ~' 2>&1", 2)
    assert_match "invalid host", output

    # init creates a key, the kit's ssh config and the sandbox template; OpenSSH itself
    # shows that a *.novita host now goes through novita-proxy.
    system bin/"novita-sshconfig", "init", "--yes", "--proxy-command-path", bin/"novita-proxy"
    assert_path_exists testpath/".ssh/novita/id_ed25519"
    assert_path_exists testpath/".ssh/novita/config"
    assert_path_exists testpath/"novita-ssh-template/template.ts"
    resolved = shell_output("ssh -F #{testpath}/.ssh/config -G iz3m5v8axsybc877b539s.novita")
    assert_match "proxycommand #{bin}/novita-proxy", resolved
    assert_match "identityfile #{testpath}/.ssh/novita/id_ed25519", resolved
  end
end
