# The surge benchmark's load: a shape's bursts at once (shapes.go: a
# federated flood, a popular local post, a backlog after downtime), then
# the steady stream for STEADY_SECONDS. Every job's seed comes from one
# generator seeded with SEED, so every layout is offered the same jobs.
# Arguments: SEED STEADY_SECONDS; the shape is the JSON in SHAPE, the
# steady stream's kinds per second the JSON in STEADY, and the kinds
# BENCH_KINDS (read by jobs.rb).
require_relative "jobs"

Redis.silence_deprecations = true if Redis.respond_to?(:silence_deprecations=)

seed, seconds = Integer(ARGV[0]), Float(ARGV[1])
shape = JSON.parse(ENV.fetch("SHAPE"))
steady = JSON.parse(ENV.fetch("STEADY"))
rng = Random.new(seed)
shape.fetch("bursts").each { |b| Bench.enqueue(b.fetch("kind"), b.fetch("count"), rng, true) }
$stdout.puts "surge enqueued"
$stdout.flush
# By the clock, not by ticks: however slow a tick is on a loaded machine,
# each kind gets per_second x elapsed jobs, so every layout is offered the
# same steady load.
start = Time.now
sent = Hash.new(0)
loop do
  elapsed = [Time.now - start, seconds].min
  steady.sort.each do |kind, per_second|
    n = (per_second.to_f * elapsed).floor - sent[kind]
    next if n <= 0
    sent[kind] += n
    Bench.enqueue(kind, n, rng, false)
  end
  break if elapsed >= seconds
  sleep 0.1
end
$stdout.puts "steady done"
