%% @doc The HTTP API, as an inets httpd module.
%%
%%   GET  /health      200 {"status":"ok","version":...}
%%   POST /initialize  a JSON-RPC 2.0 request; `initialize' is answered with
%%                     the server's info, as an MCP server does
%%   GET  /metrics     Prometheus text format
%%   GET  /config      the current settings (for the reload probe)
%%   GET  /            the version, as plain text
%%
%% With fail_rate F, a share F of requests to every path but /metrics and
%% /config is answered 500, to simulate a bad release.
-module(erlsvc_handler).

-export([do/1, route/3]).

-include_lib("inets/include/httpd.hrl").

%% @doc The httpd callback.
-spec do(#mod{}) -> {proceed, list()}.
do(#mod{method = Method, request_uri = Uri, entity_body = Body, socket = Sock}) ->
    %% httpd writes headers and body separately: without nodelay, Nagle and
    %% delayed ACKs add 40 ms to every keep-alive request. (OTP 25's
    %% {socket_type, {ip_comm, [{nodelay, true}]}} only works for port 0.)
    _ = inet:setopts(Sock, [{nodelay, true}]),
    Path = path(Uri),
    {Status, Type, RespBody} = route(Method, Path, Body),
    erlsvc_metrics:inc(metric_path(Path), Status),
    Bin = iolist_to_binary(RespBody),
    Head = [{code, Status},
            {content_type, Type},
            {content_length, integer_to_list(byte_size(Bin))}],
    {proceed, [{response, {response, Head, binary_to_list(Bin)}}]}.

%% @doc Routes one request: {Status, ContentType, Body}.
-spec route(string(), string(), string() | binary()) -> {pos_integer(), string(), iodata()}.
route("GET", "/metrics", _) ->
    {200, "text/plain; version=0.0.4", erlsvc_metrics:render()};
route("GET", "/config", _) ->
    {200, "application/json", erlsvc_json:encode(config_object())};
route(Method, Path, Body) ->
    case inject_failure() of
        true -> {500, "application/json",
                 erlsvc_json:encode(#{<<"error">> => <<"injected failure">>})};
        false -> serve(Method, Path, Body)
    end.

serve("GET", "/health", _) ->
    {200, "application/json",
     erlsvc_json:encode(#{<<"status">> => <<"ok">>,
                          <<"version">> => bin(erlsvc_config:get(version))})};
serve("POST", "/initialize", Body) ->
    {Status, Resp} = erlsvc_rpc:handle(iolist_to_binary(Body)),
    {Status, "application/json", Resp};
serve("GET", "/", _) ->
    {200, "text/plain", [bin(erlsvc_config:get(version)), <<"\n">>]};
serve(_, Path, _) when Path =:= "/health"; Path =:= "/initialize"; Path =:= "/" ->
    {405, "application/json", erlsvc_json:encode(#{<<"error">> => <<"method not allowed">>})};
serve(_, _, _) ->
    {404, "application/json", erlsvc_json:encode(#{<<"error">> => <<"not found">>})}.

inject_failure() ->
    case erlsvc_config:get(fail_rate) of
        R when R > 0.0 -> rand:uniform() =< R;
        _ -> false
    end.

config_object() ->
    maps:from_list([{atom_to_binary(K), json_value(V)} || {K, V} <- erlsvc_config:all()]).

json_value(V) when is_number(V) -> V;
json_value(V) when is_tuple(V) -> bin(inet:ntoa(V));
json_value(V) -> bin(V).

path(Uri) ->
    hd(string:split(hd(string:split(Uri, "?")), "#")).

metric_path(P) when P =:= "/health"; P =:= "/initialize"; P =:= "/metrics";
                    P =:= "/config"; P =:= "/" -> list_to_binary(P);
metric_path(_) -> <<"other">>.

bin(B) when is_binary(B) -> B;
bin(L) when is_list(L) -> unicode:characters_to_binary(L);
bin(A) when is_atom(A) -> atom_to_binary(A).
