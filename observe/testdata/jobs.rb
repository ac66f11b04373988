# Jobs for the observe tests: a job that holds its thread for a while, so
# that a process's threads are busy and a queue keeps a known size.
require "sidekiq"

class SlowJob
  include Sidekiq::Worker

  def perform(seconds)
    sleep(seconds)
  end
end
