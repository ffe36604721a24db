%% @doc The service's settings and their reload.
%%
%% Settings come, lowest precedence first, from the application environment
%% (sys.config), the environment variables PORT, FAIL_RATE, SERVICE_VERSION
%% and BIND_ADDRESS, and the file named by CONFIG_FILE (Erlang terms such as
%% `{fail_rate, 0.2}.'). The file is checked every 500 ms and re-read when it
%% changes, so a setting can be changed without a restart (the
%% configuration-reload probe). Only fail_rate and version reload; port and
%% bind_address need a restart.
-module(erlsvc_config).
-behaviour(gen_server).

-export([start_link/0, get/1, set/2, reload/0, all/0, parse_rate/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(POLL_MS, 500).

-type key() :: port | fail_rate | version | bind_address | config_file.

-spec start_link() -> {ok, pid()} | ignore | {error, term()}.
start_link() ->
    gen_server:start_link({local, ?MODULE}, ?MODULE, [], []).

%% @doc The current value of a setting.
-spec get(key()) -> term().
get(Key) ->
    gen_server:call(?MODULE, {get, Key}).

%% @doc Every setting, sorted by name.
-spec all() -> [{key(), term()}].
all() ->
    gen_server:call(?MODULE, all).

%% @doc Sets a setting in memory (tests and the admin API).
-spec set(key(), term()) -> ok.
set(Key, Value) ->
    gen_server:call(?MODULE, {set, Key, Value}).

%% @doc Re-reads CONFIG_FILE now.
-spec reload() -> ok.
reload() ->
    gen_server:call(?MODULE, reload).

%% @doc Parses a failure share: "0.2", "20%", "0" or ".5"; clamped to [0, 1].
-spec parse_rate(string() | number()) -> {ok, float()} | error.
parse_rate(N) when is_number(N) -> {ok, clamp(float(N))};
parse_rate(S) when is_list(S) ->
    Str = string:trim(S),
    case lists:suffix("%", Str) of
        true ->
            case parse_number(lists:droplast(Str)) of
                {ok, V} -> {ok, clamp(V / 100)};
                error -> error
            end;
        false -> case parse_number(Str) of
                     {ok, V} -> {ok, clamp(V)};
                     error -> error
                 end
    end.

parse_number("." ++ _ = S) -> parse_number("0" ++ S);
parse_number(S) ->
    case string:to_float(S) of
        {F, ""} -> {ok, F};
        _ -> case string:to_integer(S) of
                 {I, ""} -> {ok, float(I)};
                 _ -> error
             end
    end.

clamp(V) when V < 0.0 -> 0.0;
clamp(V) when V > 1.0 -> 1.0;
clamp(V) -> V.

init([]) ->
    {ok, Vsn} = application:get_key(erlsvc, vsn),
    Base = #{port => application:get_env(erlsvc, port, 8080),
             fail_rate => float(application:get_env(erlsvc, fail_rate, 0.0)),
             version => Vsn,
             bind_address => application:get_env(erlsvc, bind_address, {127, 0, 0, 1}),
             config_file => os:getenv("CONFIG_FILE", "")},
    S0 = from_env(Base),
    S = read_file(S0, undefined),
    erlang:send_after(?POLL_MS, self(), poll),
    {ok, S}.

handle_call({get, Key}, _From, S) -> {reply, maps:get(Key, S, undefined), S};
handle_call(all, _From, S) -> {reply, lists:sort([{K, V} || {K, V} <- maps:to_list(S), K =/= mtime]), S};
handle_call({set, Key, Value}, _From, S) -> {reply, ok, S#{Key => Value}};
handle_call(reload, _From, S) -> {reply, ok, read_file(S, undefined)};
handle_call(_Other, _From, S) -> {reply, {error, unknown_call}, S}.

handle_cast(_Msg, S) -> {noreply, S}.

handle_info(poll, S) ->
    erlang:send_after(?POLL_MS, self(), poll),
    {noreply, read_file(S, maps:get(mtime, S, undefined))};
handle_info(_Msg, S) -> {noreply, S}.

from_env(S) ->
    lists:foldl(fun({Var, Fun}, Acc) ->
                        case os:getenv(Var) of
                            false -> Acc;
                            "" -> Acc;
                            Val -> Fun(Val, Acc)
                        end
                end, S,
                [{"PORT", fun(V, A) -> A#{port => list_to_integer(V)} end},
                 {"FAIL_RATE", fun(V, A) -> case parse_rate(V) of
                                               {ok, R} -> A#{fail_rate => R};
                                               error -> A
                                           end end},
                 {"SERVICE_VERSION", fun(V, A) -> A#{version => V} end},
                 {"BIND_ADDRESS", fun(V, A) -> case inet:parse_address(V) of
                                                  {ok, Ip} -> A#{bind_address => Ip};
                                                  _ -> A
                                              end end}]).

%% read_file re-reads the config file when its modification time differs
%% from Seen (undefined: always).
read_file(#{config_file := ""} = S, _Seen) -> S;
read_file(#{config_file := File} = S, Seen) ->
    case file:read_file_info(File, [{time, posix}]) of
        {ok, Info} ->
            MTime = {element(6, Info), element(2, Info)}, % {mtime, size}
            case MTime of
                Seen -> S;
                _ -> apply_terms(File, S#{mtime => MTime})
            end;
        {error, _} -> S
    end.

apply_terms(File, S) ->
    case file:consult(File) of
        {ok, Terms} ->
            lists:foldl(fun({fail_rate, V}, A) when is_number(V) ->
                                {ok, R} = parse_rate(V), A#{fail_rate => R};
                           ({version, V}, A) when is_list(V) -> A#{version => V};
                           (_, A) -> A
                        end, S, Terms);
        {error, Reason} ->
            logger:warning("erlsvc: cannot read ~s: ~p", [File, Reason]),
            S
    end.
