# The surge benchmark's job: one Mastodon worker as kinds.go models it
# (BENCH_KINDS, JSON). A job's arguments are its kind, its seed and whether
# it belongs to the surge; every number it spends is drawn from the seed,
# so every layout is offered the same work, fan-out included:
#   queries: real statements on a pooled connection (DB_POOL of them, as
#            a Rails job holds one of ActiveRecord's): an insert of a
#            status row and an indexed select on bench_statuses;
#   db_ms:   pg_sleep on that connection (lock waits, slow plans);
#   io_ms:   waiting on the network (sleep), or the timeout;
#   cpu_ms:  a loop that runs until the thread has spent cpu_ms of CPU
#            (CLOCK_THREAD_CPUTIME_ID): a thread descheduled by the
#            kernel, or waiting for Ruby's lock, has not done its work
#            yet. BENCH_CPU_CLOCK=wall watches the wall clock instead, as
#            the bench did before issue 20: only to show that artefact.
#   fanout:  the jobs it enqueues, pushed in bulk as Mastodon's workers do.
# A server middleware records each job's queue and its wait from enqueue to
# start (bench:lat), counts jobs done per queue (bench:done:<queue>) and,
# for the surge's jobs, bench:surge:done. Enqueues are counted the same way
# (bench:enq:<queue>, bench:surge:enq) before the parent is done, so the
# surge has drained when the two surge counters meet. Each job adds the CPU
# it was to spend and the CPU its thread did spend to bench:cpu:nominal_us
# and bench:cpu:spent_us: the run checks one against the other.
require "sidekiq"
require "pg"
require "connection_pool"
require "json"

DB = ConnectionPool.new(size: Integer(ENV.fetch("DB_POOL", "5")), timeout: 60) do
  PG.connect(ENV.fetch("BENCH_PG"))
end
KINDS = JSON.parse(ENV.fetch("BENCH_KINDS"))

module Bench
  CLOCK = ENV["BENCH_CPU_CLOCK"] == "wall" ? Process::CLOCK_MONOTONIC : Process::CLOCK_THREAD_CPUTIME_ID
  QUERIES = {
    "insert" => ->(c, rng) { c.exec_params("INSERT INTO bench_statuses (account_id, uri, body) VALUES ($1, $2, repeat('x', 400)) ON CONFLICT (uri) DO NOTHING", [rng.rand(50_000), "https://example.net/#{rng.rand(1 << 60)}"]) },
    "select" => ->(c, rng) { c.exec_params("SELECT id, uri FROM bench_statuses WHERE account_id = $1 ORDER BY id DESC LIMIT 20", [rng.rand(50_000)]).ntuples }
  }.freeze

  # A lognormal draw: median * e^(sigma Z), Z standard normal (Box-Muller).
  def self.draw(rng, d)
    return 0.0 if d.nil? || d["median"].to_f <= 0
    sigma = d["sigma"].to_f
    v = d["median"].to_f
    v *= Math.exp(sigma * Math.sqrt(-2 * Math.log(1 - rng.rand)) * Math.cos(2 * Math::PI * rng.rand)) if sigma > 0
    max = d["max"].to_f
    max > 0 ? [v, max].min : v
  end

  # enqueue pushes n jobs of kind, each with a seed from rng, counted
  # before they can run.
  def self.enqueue(kind, n, rng, surge)
    return if n <= 0
    queue = KINDS.fetch(kind).fetch("queue")
    args = Array.new(n) { [kind, rng.rand(1 << 31), surge] }
    Sidekiq.redis do |c|
      c.incrby("bench:enq:#{queue}", n)
      c.incrby("bench:surge:enq", n) if surge
    end
    args.each_slice(1000) { |s| Sidekiq::Client.push_bulk("class" => "BenchJob", "queue" => queue, "args" => s) }
  end

  def self.spin(cpu_ms)
    cpu0 = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :microsecond)
    stop = Process.clock_gettime(CLOCK) + cpu_ms / 1000.0
    x = 0
    x += 1 while Process.clock_gettime(CLOCK) < stop
    Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :microsecond) - cpu0
  end
end

class BenchLatency
  def call(_worker, job, queue)
    started = Time.now.to_f
    waited_ms = ((started - job["enqueued_at"].to_f) * 1000).round
    Sidekiq.redis { |c| c.rpush("bench:lat", "#{queue} #{waited_ms} #{started}") }
    yield
    Sidekiq.redis do |c|
      c.incr("bench:done:#{queue}")
      c.incr("bench:surge:done") if job["args"][2]
    end
  end
end

Sidekiq.configure_server do |config|
  config.server_middleware { |chain| chain.add BenchLatency }
end

class BenchJob
  include Sidekiq::Worker
  sidekiq_options retry: false

  def perform(kind, seed, surge)
    k = KINDS.fetch(kind)
    rng = Random.new(seed)
    db_ms = Bench.draw(rng, k["db_ms"])
    io_ms = Bench.draw(rng, k["io_ms"])
    io_ms = k["timeout_ms"].to_f if k["timeout_p"].to_f > 0 && rng.rand < k["timeout_p"].to_f
    cpu_ms = Bench.draw(rng, k["cpu_ms"])
    queries = k["queries"] || []
    if db_ms > 0 || !queries.empty?
      DB.with do |c|
        queries.each { |q| Bench::QUERIES.fetch(q).call(c, rng) }
        c.exec_params("SELECT pg_sleep($1)", [db_ms / 1000.0]) if db_ms > 0
      end
    end
    sleep(io_ms / 1000.0) if io_ms > 0
    spent = cpu_ms > 0 ? Bench.spin(cpu_ms) : 0
    (k["fanout"] || []).each do |f|
      n = f["p"].to_f > 0 ? (rng.rand < f["p"].to_f ? 1 : 0) : Bench.draw(rng, f["count"]).floor
      Bench.enqueue(f["kind"], n, rng, surge)
    end
    Sidekiq.redis do |c|
      c.incrby("bench:cpu:nominal_us", (cpu_ms * 1000).round)
      c.incrby("bench:cpu:spent_us", spent)
    end
  end
end
