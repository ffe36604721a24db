%% @doc Top supervisor: configuration first, then metrics, then the HTTP
%% listener (which reads both), restarted one for all in that order.
-module(erlsvc_sup).
-behaviour(supervisor).

-export([start_link/0, init/1]).

-spec start_link() -> {ok, pid()} | ignore | {error, term()}.
start_link() ->
    supervisor:start_link({local, ?MODULE}, ?MODULE, []).

-spec init([]) -> {ok, {supervisor:sup_flags(), [supervisor:child_spec()]}}.
init([]) ->
    Flags = #{strategy => rest_for_one, intensity => 5, period => 10},
    Children = [
        #{id => erlsvc_config, start => {erlsvc_config, start_link, []}},
        #{id => erlsvc_metrics, start => {erlsvc_metrics, start_link, []}},
        #{id => erlsvc_http, start => {erlsvc_http, start_link, []}}
    ],
    {ok, {Flags, Children}}.
