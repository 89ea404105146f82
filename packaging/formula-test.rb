# Runs a Homebrew formula's `install` and `test do` blocks without Homebrew, so CI on
# Debian exercises Formula/novita-ssh.rb itself: the cargo install lines, where man pages
# and completions land, and the checks of its test block.
#
#   ruby packaging/formula-test.rb FORMULA SOURCE_DIR PREFIX TESTPATH
#
# SOURCE_DIR is an unpacked release tarball (git archive), PREFIX and TESTPATH empty
# directories. Only the parts of Homebrew's formula API that the formula uses exist here;
# anything else fails loudly with NoMethodError.
require "fileutils"
require "open3"
require "pathname"

# Homebrew's `Pathname#install`: copy files into a directory, optionally renaming them.
class Pathname
  def install(*sources)
    mkpath
    sources.flatten.each do |source|
      pairs = source.is_a?(Hash) ? source.to_a : [[source, File.basename(source.to_s)]]
      pairs.each do |from, to|
        raise "install: #{from} does not exist" unless File.exist?(from.to_s)

        FileUtils.cp(from.to_s, (self / to.to_s).to_s)
      end
    end
  end
end

# The formula DSL and the helpers install and test blocks use.
class Formula
  class << self
    attr_reader :test_block, :stable_url

    def url(value, **) = @stable_url = value
    def desc(*) = nil
    def homepage(*) = nil
    def sha256(*) = nil
    def license(*) = nil
    def head(*, **) = nil
    def depends_on(*) = nil
    def uses_from_macos(*) = nil
    def test(&block) = @test_block = block
  end

  attr_reader :prefix, :testpath

  def initialize(prefix, testpath)
    @prefix = Pathname(prefix)
    @testpath = Pathname(testpath)
  end

  def version = self.class.stable_url[/v(\d+\.\d+\.\d+[^\/]*?)\.tar\.gz\z/, 1]
  def bin = prefix / "bin"
  def man1 = prefix / "share/man/man1"
  def bash_completion = prefix / "etc/bash_completion.d"
  def zsh_completion = prefix / "share/zsh/site-functions"
  def fish_completion = prefix / "share/fish/vendor_completions.d"
  def std_cargo_args(path: ".") = ["--locked", "--root", prefix.to_s, "--path", path.to_s]

  def system(*args)
    args = args.map(&:to_s)
    puts "==> #{args.join(" ")}"
    Kernel.system(*args) || raise("failed: #{args.join(" ")}")
  end

  def shell_output(cmd, result = 0)
    out, status = Open3.capture2(cmd)
    raise "#{cmd}: exit #{status.exitstatus}, expected #{result}\n#{out}" unless status.exitstatus == result

    out
  end

  def assert_match(pattern, text)
    matched = pattern.is_a?(Regexp) ? pattern.match?(text) : text.include?(pattern)
    raise "expected #{pattern.inspect} in:\n#{text}" unless matched
  end

  def assert_path_exists(path)
    raise "expected #{path} to exist" unless File.exist?(path.to_s)
  end
end

formula_file, source_dir, prefix, testpath = ARGV
abort "usage: formula-test.rb FORMULA SOURCE_DIR PREFIX TESTPATH" unless testpath

load File.expand_path(formula_file)
klass = Formula.subclasses.first or abort "#{formula_file} defines no formula"
formula = klass.new(File.expand_path(prefix), File.expand_path(testpath))
abort "#{formula_file}: no version in the url #{klass.stable_url}" unless formula.version

Dir.chdir(source_dir) { formula.install }
puts "==> install done into #{prefix}"
Dir.chdir(testpath) { formula.instance_eval(&klass.test_block) }
puts "==> test do passed"
