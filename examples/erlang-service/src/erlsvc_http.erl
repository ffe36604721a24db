%% @doc Owns the inets httpd instance that serves the API.
-module(erlsvc_http).
-behaviour(gen_server).

-export([start_link/0, port/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-spec start_link() -> {ok, pid()} | ignore | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc The port the service listens on (useful when configured as 0).
-spec port() -> inet:port_number().
port() ->
    gen_server:call(?MODULE, port).

init([]) ->
    process_flag(trap_exit, true),
    Root = filename:join(os:getenv("TMPDIR", "/tmp"), "erlsvc-httpd"),
    ok = filelib:ensure_path(Root),
    Conf = [{port, erlsvc_config:get(port)},
            {bind_address, erlsvc_config:get(bind_address)},
            {ipfamily, inet},
            {server_name, "erlsvc"},
            {server_root, Root},
            {document_root, Root},
            {modules, [erlsvc_handler]},
            {keep_alive, true},
            {max_keep_alive_request, 100000},
            {keep_alive_timeout, 30},
            {max_clients, 1000},
            {minimum_bytes_per_second, false}],
    %% Started under inets' own supervisor (so httpd:info/2 knows it) and
    %% monitored: if it goes, this process goes and is restarted.
    case inets:start(httpd, Conf) of
        {ok, Pid} ->
            erlang:monitor(process, Pid),
            [{port, Port}] = httpd:info(Pid, [port]),
            logger:notice("erlsvc ~s listening on port ~p", [erlsvc_config:get(version), Port]),
            {ok, #{pid => Pid, port => Port}};
        {error, Reason} ->
            {stop, {listen_failed, erlsvc_config:get(port), Reason}}
    end.

handle_call(port, _From, #{port := Port} = S) -> {reply, Port, S};
handle_call(_Req, _From, S) -> {reply, {error, unknown_call}, S}.

handle_cast(_Msg, S) -> {noreply, S}.

handle_info({'DOWN', _Ref, process, Pid, Reason}, #{pid := Pid} = S) ->
    {stop, {httpd_down, Reason}, S};
handle_info(_Msg, S) -> {noreply, S}.

terminate(_Reason, #{pid := Pid}) ->
    _ = (catch inets:stop(httpd, Pid)),
    ok.
