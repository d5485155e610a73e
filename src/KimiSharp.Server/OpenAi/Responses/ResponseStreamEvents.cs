using System.Text.Json.Serialization;

namespace KimiSharp.Server.OpenAi.Responses;

// Server-sent events of a streamed response, in OpenAI's shapes. Every event carries its type (also the SSE
// event name) and a sequence number that counts from 0 within the stream.

[JsonDerivedType(typeof(ResponseLifecycleEvent))]
[JsonDerivedType(typeof(OutputItemEvent))]
[JsonDerivedType(typeof(ContentPartEvent))]
[JsonDerivedType(typeof(OutputTextDeltaEvent))]
[JsonDerivedType(typeof(OutputTextDoneEvent))]
[JsonDerivedType(typeof(FunctionArgumentsDeltaEvent))]
[JsonDerivedType(typeof(FunctionArgumentsDoneEvent))]
[JsonDerivedType(typeof(ReasoningTextDeltaEvent))]
[JsonDerivedType(typeof(ReasoningTextDoneEvent))]
public abstract record ResponseStreamEvent(string Type, int SequenceNumber);

/// <summary>response.created, response.in_progress, response.completed, response.incomplete, response.failed.</summary>
public sealed record ResponseLifecycleEvent(string Type, int SequenceNumber, ResponseObject Response) : ResponseStreamEvent(Type, SequenceNumber);

/// <summary>response.output_item.added / response.output_item.done.</summary>
public sealed record OutputItemEvent(string Type, int SequenceNumber, int OutputIndex, ResponseOutputItem Item) : ResponseStreamEvent(Type, SequenceNumber);

/// <summary>response.content_part.added / response.content_part.done.</summary>
public sealed record ContentPartEvent(string Type, int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, OutputTextPart Part)
    : ResponseStreamEvent(Type, SequenceNumber);

public sealed record OutputTextDeltaEvent(int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Delta, IReadOnlyList<ResponseLogprob> Logprobs)
    : ResponseStreamEvent("response.output_text.delta", SequenceNumber);

public sealed record OutputTextDoneEvent(int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Text, IReadOnlyList<ResponseLogprob> Logprobs)
    : ResponseStreamEvent("response.output_text.done", SequenceNumber);

public sealed record FunctionArgumentsDeltaEvent(int SequenceNumber, string ItemId, int OutputIndex, string Delta)
    : ResponseStreamEvent("response.function_call_arguments.delta", SequenceNumber);

public sealed record FunctionArgumentsDoneEvent(int SequenceNumber, string ItemId, int OutputIndex, string Name, string Arguments)
    : ResponseStreamEvent("response.function_call_arguments.done", SequenceNumber);

public sealed record ReasoningTextDeltaEvent(int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Delta)
    : ResponseStreamEvent("response.reasoning_text.delta", SequenceNumber);

public sealed record ReasoningTextDoneEvent(int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Text)
    : ResponseStreamEvent("response.reasoning_text.done", SequenceNumber);
