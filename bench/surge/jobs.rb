# The surge benchmark's job: a synthetic, Mastodon-like unit of work whose
# shape comes from its arguments (bench/surge/README.md gives the mix):
#   db_ms:  a real query (pg_sleep) holding a connection from a pool of
#           DB_POOL connections, as a Rails job holds one of ActiveRecord's;
#   io_ms:  waiting on the network (sleep): HTTP deliveries and fetches;
#   cpu_ms: a busy loop. With BENCH_CPU_CLOCK=thread it runs until the
#           thread has spent cpu_ms of CPU (CLOCK_THREAD_CPUTIME_ID): a
#           thread descheduled by the kernel, or waiting for Ruby's lock,
#           has not done its work yet. Without it the loop watches the wall
#           clock, as the committed results were measured: a descheduled
#           job "finishes its CPU" without doing it, which favours layouts
#           with more processes than cores (issue 20; the thread clock
#           becomes the default once the planner is re-derived on it).
#           Ruby's lock makes threads beyond the CPUs worth less, which is
#           what makes -c a real choice.
# A server middleware records, for every job, its queue and how long it
# waited from enqueue to start, into Redis (bench:lat), and counts jobs
# done (bench:done:<queue>). Each job adds the CPU it was to spend and the
# CPU its thread did spend in the loop to bench:cpu:nominal_us and
# bench:cpu:spent_us: the run checks one against the other.
require "sidekiq"
require "pg"
require "connection_pool"

DB = ConnectionPool.new(size: Integer(ENV.fetch("DB_POOL", "5")), timeout: 60) do
  PG.connect(ENV.fetch("BENCH_PG"))
end

class BenchLatency
  def call(_worker, job, queue)
    started = Time.now.to_f
    waited_ms = ((started - job["enqueued_at"].to_f) * 1000).round
    Sidekiq.redis { |c| c.rpush("bench:lat", "#{queue} #{waited_ms} #{started}") }
    yield
    Sidekiq.redis { |c| c.incr("bench:done:#{queue}") }
  end
end

Sidekiq.configure_server do |config|
  config.server_middleware { |chain| chain.add BenchLatency }
end

class BenchJob
  include Sidekiq::Worker
  sidekiq_options retry: false

  CLOCK = ENV["BENCH_CPU_CLOCK"] == "thread" ? Process::CLOCK_THREAD_CPUTIME_ID : Process::CLOCK_MONOTONIC

  def perform(db_ms, io_ms, cpu_ms)
    DB.with { |c| c.exec_params("SELECT pg_sleep($1)", [db_ms / 1000.0]) } if db_ms > 0
    sleep(io_ms / 1000.0) if io_ms > 0
    return if cpu_ms <= 0
    cpu0 = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :microsecond)
    stop = Process.clock_gettime(CLOCK) + cpu_ms / 1000.0
    x = 0
    x += 1 while Process.clock_gettime(CLOCK) < stop
    spent = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :microsecond) - cpu0
    Sidekiq.redis do |c|
      c.incrby("bench:cpu:nominal_us", cpu_ms * 1000)
      c.incrby("bench:cpu:spent_us", spent)
    end
  end
end
